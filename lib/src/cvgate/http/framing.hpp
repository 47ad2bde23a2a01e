#pragma once
// RFC 9112's rules for a request head that Beast's parser leaves to the server: how the
// body is framed (Transfer-Encoding), exactly one valid Host, and absolute-form targets.
// A head that breaks them is refused and the connection closed: a body the server cannot
// delimit must never be read as the next request (request smuggling).

#include <cvgate/http/request.hpp>
#include <cvgate/http/response.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace cvgate::http {

struct HeadRefusal {
    Status status;
    std::string_view detail;
};

// nullopt when the head may be served. Refuses (RFC 9112 §6.1, §6.3, §3.2):
// - Transfer-Encoding on an HTTP/1.0 request, or one whose final coding is not `chunked`,
//   or that applies `chunked` twice: 400;
// - a coding before `chunked` (`gzip, chunked`): 501, the server decodes none;
// - HTTP/1.1 without exactly one Host, or with a Host that is no host[:port]: 400.
std::optional<HeadRefusal> check_head(const RequestHead& head);

// True when the request line that starts `head` is well formed but names an HTTP version
// other than 1.0 and 1.1 (Beast's parser refuses those): 505 rather than 400.
bool names_other_http_version(std::string_view head);

// The origin form (`/path?query`) of an absolute-form target (`http://host/path?query`);
// nullopt when `target` is not in absolute form.
std::optional<std::string> origin_form(std::string_view target);

}  // namespace cvgate::http
