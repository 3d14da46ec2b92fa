"""The embedded local endpoint: one small model behind the Azure AI Model Inference API.

Start it with `python -m playground.local_endpoint --port PORT`.
"""
