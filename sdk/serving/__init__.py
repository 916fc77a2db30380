"""Serving engines meet the hub: the vLLM resolver plugin (vllm_plugin.py) and `hub sync` (sync.py)."""
