"""Roadbed's domain: the vocabulary shared by the API, the workflows and the activities.

Nothing here does I/O, reads the clock or imports an adapter, so workflows may import it freely.
"""
