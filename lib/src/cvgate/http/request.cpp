#include <cvgate/http/error.hpp>
#include <cvgate/http/request.hpp>

namespace cvgate::http {

const ids::TraceContext& Request::trace() const noexcept {
    static const ids::TraceContext untraced;
    return trace_ ? *trace_ : untraced;
}

std::string_view Request::path() const noexcept {
    auto t = target();
    return t.substr(0, t.find('?'));
}

std::string_view Request::header(Field field) const noexcept {
    auto it = head_->find(field);
    return it == head_->end() ? std::string_view{} : std::string_view{it->value()};
}

std::string_view Request::header(std::string_view name) const noexcept {
    auto it = head_->find(name);
    return it == head_->end() ? std::string_view{} : std::string_view{it->value()};
}

boost::asio::awaitable<std::string> Request::read_all(std::size_t limit) {
    std::string out;
    for (;;) {
        auto chunk = co_await read_some();
        if (chunk.empty()) break;
        if (out.size() + chunk.size() > limit)
            throw HttpError{Status::payload_too_large, "Request body too large"};
        out.append(chunk);
    }
    co_return out;
}

}  // namespace cvgate::http
