//! Mode 7 (private, ntpdc) messages: header, request codes, item structs, request MAC layout.
