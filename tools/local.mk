# tools/: build rules (filled in by the component)
