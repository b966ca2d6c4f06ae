"""Tests of the 8x8 client, its hook and connection type."""
