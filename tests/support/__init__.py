"""Test support: real, small stand-ins for the things fcstudio talks to (no mocks)."""
