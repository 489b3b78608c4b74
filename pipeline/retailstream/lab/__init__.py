"""The native lab: every engine as a real local process under supervisord, bound to 127.0.0.1."""
