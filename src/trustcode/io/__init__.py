"""Readers of documents and readers/writers of coded tables."""
