#pragma once
// The session's request parser (not a public header).

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace cvgate::http::session_detail {

// Beast's request parser, except that a field name or value too long for Beast's field
// container (which keeps sizes in 16 bits and throws std::length_error past them) is a
// header_limit error instead. Thrown in the middle of a read, that exception would leave
// the I/O thread's run() and end the process: one chunked request with a trailer field of
// 64 KiB did it (the read buffer holds a trailer section of up to MAX_HEADER_SIZE + 64 KiB),
// as did a header field that long with MAX_HEADER_SIZE over 64 KiB.
class RequestParser final : public boost::beast::http::request_parser<boost::beast::http::buffer_body> {
public:
    static constexpr std::size_t max_field_size = std::numeric_limits<std::uint16_t>::max() - 2;

private:
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override {
        if (name_string.size() > max_field_size || value.size() > max_field_size) {
            ec = boost::beast::http::error::header_limit;
            return;
        }
        get().insert(name, name_string, value);
    }
};

}  // namespace cvgate::http::session_detail
