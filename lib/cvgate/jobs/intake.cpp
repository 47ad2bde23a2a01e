#include <cvgate/jobs/intake.hpp>

#include <cvgate/jobs/error.hpp>

#include <algorithm>
#include <cctype>

namespace cvgate::jobs {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Code points in `s`, or nullopt when it is not valid UTF-8.
std::optional<std::size_t> utf8_characters(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        std::size_t len;
        std::uint32_t cp;
        if (b0 < 0x80) { len = 1; cp = b0; }
        else if ((b0 & 0xe0) == 0xc0) { len = 2; cp = b0 & 0x1f; }
        else if ((b0 & 0xf0) == 0xe0) { len = 3; cp = b0 & 0x0f; }
        else if ((b0 & 0xf8) == 0xf0) { len = 4; cp = b0 & 0x07; }
        else return std::nullopt;
        if (i + len > s.size()) return std::nullopt;
        for (std::size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80) return std::nullopt;
            cp = (cp << 6) | (b & 0x3f);
        }
        static constexpr std::uint32_t min_for[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
        i += len;
        ++count;
    }
    return count;
}

}  // namespace

Task<void> Intake::field(std::string_view name, std::string value) {
    if (name == "jd_text") jd_text_ = std::move(value);
    else if (name == "use_delay") use_delay_ = std::move(value);
    co_return;  // other fields are ignored, as FastAPI does
}

Task<void> Intake::file_begin(std::string_view raw_filename) {
    ++uploaded_;
    filename_ = clean_filename(raw_filename);
    check_.emplace(filename_, limits_.max_file_size);
    staged_.reset();
    if (check_->declared_type()) staged_ = co_await uploads_.stage();
}

Task<void> Intake::file_data(std::string_view chunk) {
    if (!check_->feed(chunk)) {
        staged_.reset();  // rejected mid-stream: the rest of the part is read and dropped
        co_return;
    }
    if (staged_) co_await staged_->write(chunk);
}

Task<void> Intake::file_end() {
    auto type = check_->finish();
    if (type && staged_) {
        accepted_.push_back({std::move(staged_), filename_, *type});
    } else {
        skipped_.push_back({filename_, check_->reason()});
        staged_.reset();
    }
    check_.reset();
    co_return;
}

Form validate_form(const Intake& intake, const Limits& limits) {
    Form form;
    if (!intake.jd_text()) throw Error{ErrorKind::invalid_form, "jd_text: field required"};
    const std::string_view jd = trim(*intake.jd_text());
    const auto chars = utf8_characters(jd);
    if (!chars) throw Error{ErrorKind::invalid_form, "jd_text: must be valid UTF-8 text"};
    if (*chars < limits.jd_min_length)
        throw Error{ErrorKind::invalid_form,
                    "jd_text: must be at least " + std::to_string(limits.jd_min_length) + " characters"};
    if (*chars > limits.jd_max_length)
        throw Error{ErrorKind::invalid_form,
                    "jd_text: must be at most " + std::to_string(limits.jd_max_length) + " characters"};
    form.jd_text = std::string{jd};

    if (intake.use_delay()) {
        std::string v{trim(*intake.use_delay())};
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
        if (v == "true" || v == "1" || v == "yes" || v == "on") form.use_delay = true;
        else if (v == "false" || v == "0" || v == "no" || v == "off") form.use_delay = false;
        else throw Error{ErrorKind::invalid_form, "use_delay: must be a boolean (true/false/1/0/yes/no/on/off)"};
    }
    return form;
}

}  // namespace cvgate::jobs
