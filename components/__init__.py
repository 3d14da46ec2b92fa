"""Render functions, each named for what it draws. No SDK, no HTTP: data in, widgets out."""
