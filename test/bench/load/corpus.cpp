#include "corpus.hpp"

#include <boost/crc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace cvgate::load {
namespace {

constexpr std::array<const char*, 12> first_names{"Ana",   "José",  "Mei",  "Olu",   "Priya", "Lukas",
                                                  "Søren", "Fatma", "Chen", "Marta", "Ivan",  "Zoë"};
constexpr std::array<const char*, 8> file_shapes{
    "CV_{}",          "{}_Resume", "Lebenslauf {}", "{} - curriculum vitae",
    "résumé_{}_2026", "{}",        "cv-{}-final",   "{} (1)"};

std::string random_bytes(std::size_t n, std::mt19937_64& rng) {
    std::string out(n, '\0');
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const std::uint64_t v = rng();
        std::copy_n(reinterpret_cast<const char*>(&v), 8, out.data() + i);
    }
    for (; i < n; ++i) out[i] = static_cast<char>(rng());
    return out;
}

std::string name_for(std::size_t i, std::mt19937_64& rng) {
    std::string shape = file_shapes[rng() % file_shapes.size()];
    const std::string who = std::string{first_names[rng() % first_names.size()]} + "_" + std::to_string(i);
    shape.replace(shape.find("{}"), 2, who);
    return shape;
}

void put16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, std::uint32_t v) {
    put16(out, static_cast<std::uint16_t>(v & 0xffff));
    put16(out, static_cast<std::uint16_t>(v >> 16));
}

}  // namespace

std::string make_pdf(std::size_t size, std::mt19937_64& rng) {
    // Objects: catalog, pages, page, its text, and an embedded image-like stream that
    // carries the bulk, as scanned or photo-bearing CVs do.
    std::string out = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";
    std::vector<std::size_t> offsets;
    auto object = [&](const std::string& body) {
        offsets.push_back(out.size());
        out += std::to_string(offsets.size()) + " 0 obj\n" + body + "\nendobj\n";
    };
    object("<< /Type /Catalog /Pages 2 0 R >>");
    object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    object(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /XObject << /Im1 5 0 R >> >> >>");
    const std::string text =
        "BT /F1 12 Tf 72 770 Td (Curriculum Vitae) Tj ET q 120 0 0 160 72 560 cm /Im1 Do Q";
    object("<< /Length " + std::to_string(text.size()) + " >>\nstream\n" + text + "\nendstream");
    const std::size_t overhead = out.size() + 400;
    const std::size_t image = size > overhead ? size - overhead : 1024;
    object(
        "<< /Type /XObject /Subtype /Image /Width 120 /Height 160 /BitsPerComponent 8 /ColorSpace /DeviceRGB "
        "/Filter /DCTDecode /Length " +
        std::to_string(image) + " >>\nstream\n" + random_bytes(image, rng) + "\nendstream");
    const std::size_t xref = out.size();
    out += "xref\n0 " + std::to_string(offsets.size() + 1) + "\n0000000000 65535 f \n";
    for (std::size_t off : offsets) {
        char line[24];
        std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
        out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(offsets.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    return out;
}

std::string make_docx(std::size_t size, std::mt19937_64& rng) {
    // A stored (uncompressed) ZIP: [Content_Types].xml, word/document.xml, and a media file
    // carrying the bulk, with a correct central directory.
    struct Entry {
        std::string name, data;
        std::uint32_t crc = 0, offset = 0;
    };
    std::vector<Entry> entries{
        {"[Content_Types].xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types "
         "xmlns=\"http://schemas.openxmlformats.org/package/2006/"
         "content-types\"><Override PartName=\"/word/document.xml\" ContentType=\"application/"
         "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"},
        {"word/document.xml",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/"
         "wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>Curriculum Vitae</w:t></w:r></w:p></w:body>"
         "</w:document>"},
    };
    const std::size_t overhead = 600;
    entries.push_back({"word/media/image1.jpeg", random_bytes(size > overhead ? size - overhead : 512, rng)});

    std::string out;
    for (auto& e : entries) {
        boost::crc_32_type crc;
        crc.process_bytes(e.data.data(), e.data.size());
        e.crc = crc.checksum();
        e.offset = static_cast<std::uint32_t>(out.size());
        put32(out, 0x04034b50);
        put16(out, 20);      // version needed
        put16(out, 0);       // flags
        put16(out, 0);       // stored
        put16(out, 0);       // time
        put16(out, 0x5b21);  // date: 2025-09-01
        put32(out, e.crc);
        put32(out, static_cast<std::uint32_t>(e.data.size()));
        put32(out, static_cast<std::uint32_t>(e.data.size()));
        put16(out, static_cast<std::uint16_t>(e.name.size()));
        put16(out, 0);
        out += e.name;
        out += e.data;
    }
    const auto directory = static_cast<std::uint32_t>(out.size());
    for (const auto& e : entries) {
        put32(out, 0x02014b50);
        put16(out, 20);  // made by
        put16(out, 20);  // needed
        put16(out, 0);
        put16(out, 0);
        put16(out, 0);
        put16(out, 0x5b21);
        put32(out, e.crc);
        put32(out, static_cast<std::uint32_t>(e.data.size()));
        put32(out, static_cast<std::uint32_t>(e.data.size()));
        put16(out, static_cast<std::uint16_t>(e.name.size()));
        put16(out, 0);  // extra
        put16(out, 0);  // comment
        put16(out, 0);  // disk
        put16(out, 0);  // internal attributes
        put32(out, 0);  // external attributes
        put32(out, e.offset);
        out += e.name;
    }
    const auto directory_size = static_cast<std::uint32_t>(out.size() - directory);
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint16_t>(entries.size()));
    put16(out, static_cast<std::uint16_t>(entries.size()));
    put32(out, directory_size);
    put32(out, directory);
    put16(out, 0);
    return out;
}

Corpus::Corpus(const CorpusOptions& options, std::mt19937_64& rng) {
    std::lognormal_distribution<double> kib{std::log(options.median_kib), options.sigma};
    std::bernoulli_distribution docx{options.docx_share};
    files_.reserve(options.files);
    for (std::size_t i = 0; i < options.files; ++i) {
        const auto size =
            std::clamp(static_cast<std::size_t>(kib(rng) * 1024), options.min_bytes, options.max_bytes);
        const bool is_docx = docx(rng);
        files_.push_back({name_for(i, rng) + (is_docx ? ".docx" : ".pdf"),
                          is_docx ? make_docx(size, rng) : make_pdf(size, rng)});
    }
}

const CvFile& Corpus::pick(std::mt19937_64& rng) const { return files_[rng() % files_.size()]; }

std::size_t Corpus::median_bytes() const {
    std::vector<std::size_t> sizes;
    for (const auto& f : files_) sizes.push_back(f.bytes.size());
    std::nth_element(sizes.begin(), sizes.begin() + static_cast<std::ptrdiff_t>(sizes.size() / 2),
                     sizes.end());
    return sizes.empty() ? 0 : sizes[sizes.size() / 2];
}

std::string Form::content_type() { return std::string{"multipart/form-data; boundary="} + boundary; }

Form& Form::field(const std::string& name, const std::string& value) {
    body_ += std::string{"--"} + boundary + "\r\nContent-Disposition: form-data; name=\"" + name +
             "\"\r\n\r\n" + value + "\r\n";
    return *this;
}

Form& Form::file(const CvFile& cv) {
    const bool pdf = cv.filename.ends_with(".pdf");
    body_ += std::string{"--"} + boundary +
             "\r\nContent-Disposition: form-data; name=\"files\"; filename=\"" + cv.filename +
             "\"\r\nContent-Type: " +
             (pdf ? "application/pdf"
                  : "application/vnd.openxmlformats-officedocument.wordprocessingml.document") +
             "\r\n\r\n";
    body_ += cv.bytes;
    body_ += "\r\n";
    return *this;
}

std::string Form::finish() {
    body_ += std::string{"--"} + boundary + "--\r\n";
    return std::move(body_);
}

const std::string& job_description() {
    static const std::string text =
        "Senior Backend Engineer (C++/Python) — Zürich or remote (CET ± 2h)\n\n"
        "We are looking for an engineer to own the ingestion path of our CV-screening pipeline: "
        "an HTTP gateway, RabbitMQ consumers, MongoDB for hot job state and PostgreSQL for the "
        "archive. You will design for bounded memory, back-pressure and graceful degradation.\n\n"
        "Must have: 5+ years of backend work; modern C++ (17/20) or Python asyncio; SQL and "
        "indexing; message queues; Linux, containers, Kubernetes; observability (Prometheus).\n"
        "Nice to have: Boost.Asio, FastAPI, document parsing (PDF/DOCX), GDPR-aware data design, "
        "German or French.\n\n"
        "We offer: a small senior team, a café-style office near the lake, 30 days of holiday, "
        "a learning budget, and hard problems — parsing 10 000 CVs an hour without losing one.";
    return text;
}

}  // namespace cvgate::load
