#include <cvgate/http/form.hpp>

#include <cvgate/http/error.hpp>

#include <boost/beast/core/string.hpp>

namespace cvgate::http {

namespace {

bool is_multipart_form(std::string_view content_type) {
    auto semicolon = content_type.find(';');
    auto media = content_type.substr(0, semicolon);
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    return boost::beast::iequals(media, "multipart/form-data");
}

}  // namespace

boost::asio::awaitable<void> read_form(Request& request, FormSink& sink, const FormLimits& limits) {
    const std::string_view content_type = request.header(Field::content_type);
    if (!is_multipart_form(content_type))
        throw HttpError{Status::unsupported_media_type, "Content-Type must be multipart/form-data"};
    auto boundary = multipart::boundary_from_content_type(content_type);
    if (!boundary)
        throw HttpError{Status::bad_request, "Malformed multipart body: missing or invalid boundary"};

    multipart::Parser parser{std::move(*boundary),
                             multipart::Limits{limits.max_part_header_bytes, limits.max_parts}};
    std::size_t files = 0;
    bool in_file = false;
    std::string field_name;
    std::string field_value;
    bool body_done = false;

    for (;;) {
        switch (parser.next()) {
            case multipart::Parser::Event::need_more: {
                if (body_done)  // the parser wants more after finish(): it cannot be complete
                    throw HttpError{Status::bad_request,
                                    std::string{multipart::describe(multipart::Error::truncated)}};
                if (in_file && !request.body_at_hand()) co_await sink.flush();
                std::string_view chunk = co_await request.read_some();
                if (chunk.empty()) {
                    body_done = true;
                    parser.finish();
                } else {
                    parser.feed(chunk);
                }
                break;
            }
            case multipart::Parser::Event::part_begin: {
                const auto& headers = parser.headers();
                in_file = headers.is_file();
                if (in_file) {
                    if (++files > limits.max_files)
                        throw HttpError{
                            Status::payload_too_large,
                            "Too many files: at most " + std::to_string(limits.max_files) + " per request"};
                    co_await sink.file_begin(headers);
                } else {
                    field_name = headers.name;
                    field_value.clear();
                }
                break;
            }
            case multipart::Parser::Event::part_data: {
                const std::string_view data = parser.data();
                if (in_file) {
                    co_await sink.file_data(data);
                } else {
                    if (field_value.size() + data.size() > limits.max_field_bytes)
                        throw HttpError{Status::payload_too_large,
                                        "A form field is larger than " +
                                            std::to_string(limits.max_field_bytes) + " bytes"};
                    field_value.append(data);
                }
                break;
            }
            case multipart::Parser::Event::part_end:
                if (in_file)
                    co_await sink.file_end();
                else
                    co_await sink.field(field_name, std::move(field_value));
                in_file = false;
                break;
            case multipart::Parser::Event::done:
                // The epilogue is ignored, but it must still be read off the connection.
                while (!(co_await request.read_some()).empty()) {
                }
                co_return;
            case multipart::Parser::Event::error:
                if (parser.error() == multipart::Error::too_many_parts)
                    throw HttpError{Status::payload_too_large,
                                    "Too many form parts: at most " + std::to_string(limits.max_parts)};
                throw HttpError{Status::bad_request, std::string{multipart::describe(parser.error())}};
        }
    }
}

}  // namespace cvgate::http
