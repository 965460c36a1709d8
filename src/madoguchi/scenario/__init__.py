"""Scripted desk sessions over real HTTP: what a desk page and a person at the desk would do."""
