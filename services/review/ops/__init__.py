"""review's operations: Flask-free, one module per aggregate. They take a session and plain
arguments, return plain data or rows, and raise common.Refused to say no."""
