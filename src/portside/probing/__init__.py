"""Sans-IO protocol fingerprints: bytes in, verdict out; the runners around them do the I/O."""
