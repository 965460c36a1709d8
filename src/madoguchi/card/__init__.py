"""The card layer: APDUs, the JPKI and input-support applications, PC/SC, and a virtual card.

Pure Python, no Django. See docs/card.md.
"""
