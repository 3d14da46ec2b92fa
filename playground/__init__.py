"""Model Playground logic that has no Streamlit in it: settings, the SDK wrapper, the embedded endpoint."""
