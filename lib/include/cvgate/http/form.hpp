#pragma once
// multipart/form-data request bodies, streamed: fields arrive whole (under a size limit),
// file parts arrive chunk by chunk as the body is read, so memory stays bounded whatever
// the upload size.

#include <cvgate/http/multipart.hpp>
#include <cvgate/http/request.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace cvgate::http {

struct FormLimits {
    std::size_t max_files = 50;             // file parts; more is 413
    std::size_t max_parts = 1000;           // all parts; more is 413
    std::size_t max_field_bytes = 1 << 20;  // one non-file field; more is 413
    std::size_t max_part_header_bytes = 8 * 1024;
};

// Receives the form as it streams in. Any exception it throws ends the read and propagates.
class FormSink {
public:
    virtual ~FormSink() = default;
    virtual boost::asio::awaitable<void> field(std::string_view name, std::string value) = 0;
    virtual boost::asio::awaitable<void> file_begin(const multipart::PartHeaders& headers) = 0;
    virtual boost::asio::awaitable<void> file_data(std::string_view chunk) = 0;
    virtual boost::asio::awaitable<void> file_end() = 0;
    // The next read would wait for the network: a sink that buffers should not hold its
    // buffer while the client is slow or stalled.
    virtual boost::asio::awaitable<void> flush() { co_return; }
};

// Reads the whole body of `request` as multipart/form-data into `sink`. Throws HttpError:
// 415 when the request is not multipart/form-data, 400 for a malformed body (with the
// parser's precise reason) or a bad boundary, 413 over a limit.
boost::asio::awaitable<void> read_form(Request& request, FormSink& sink, const FormLimits& limits);

}  // namespace cvgate::http
