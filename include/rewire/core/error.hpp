// rewire — error types. Every message names the file, the field and what was expected.
#pragma once

#include <stdexcept>
#include <string>

namespace rewire {

/// Base of every exception rewire throws.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The caller's input is wrong: bad shape, bad value, inconsistent files. Python sees ValueError.
class InvalidInput : public Error {
public:
    using Error::Error;
};

/// A file cannot be opened, read or written, or its bytes are corrupt. Python sees OSError.
class IoError : public Error {
public:
    using Error::Error;
};

/// A computation met a numerical problem it cannot recover from. Python sees FloatingPointError.
class NumericalError : public Error {
public:
    using Error::Error;
};

}  // namespace rewire
