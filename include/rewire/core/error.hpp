// rewire — error types. Every message names the file, the field and what was expected; context is added
// in front as an error travels up ("subject 3: sub-03_bold.nii.gz: ..."), never changing its type.
#pragma once

#include <stdexcept>
#include <string>

namespace rewire {

/// Base of every exception rewire throws.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message), message_(message) {}

    const char* what() const noexcept override { return message_.c_str(); }

    /// Puts `context` in front of the message ("context: message"); empty context is ignored. Rethrow
    /// the same object (`throw;`) to keep its type.
    void add_context(const std::string& context) {
        if (!context.empty())
            message_ = context + ": " + message_;
    }

private:
    std::string message_;
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
