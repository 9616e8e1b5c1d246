"""Test support for the deploy-loop test: moto 5.2.5 with the gaps the tracker stacks hit filled (gaps.py)."""
