"""Importers: translate models from other frameworks (Hugging Face, Keras, ONNX) into paramcount specs and reports."""
