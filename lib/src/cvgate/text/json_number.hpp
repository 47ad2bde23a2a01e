#pragma once
// Doubles written for people and for JSON tools alike: `3.19`, never `3.194668E0` (Boost.JSON's
// form). One definition for the log lines and the JSON answers.

#include <string>

namespace boost::json {
class value;
}

namespace cvgate::text {

// A measurement (a latency, a duration) rounded as people read it: 2 decimals, 3 below 1.
double readable(double value) noexcept;

// `value` as a JSON number in plain decimal notation, with as few digits as read back to the
// same double (`3.19`, `0.001`, `85.0` — a whole number keeps its `.0`, so it stays a float for
// whoever parses it); scientific notation only where plain would be absurdly long (beyond
// 1e15, below 1e-6); `null` for NaN and infinities, which JSON cannot hold.
void append_json_number(std::string& out, double value);

// boost::json::serialize(), but with doubles written by append_json_number.
std::string to_json(const boost::json::value& value);

}  // namespace cvgate::text
