//! A small blocking D-Bus client (work in progress).
