//! Mode 6 (control) messages: header, status words, error codes, fragments, auth trailer.
