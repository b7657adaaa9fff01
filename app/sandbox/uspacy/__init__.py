"""Uspacy emulation."""
