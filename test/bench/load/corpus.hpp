#pragma once
// What the harness uploads: CVs that pass cvgate's checks by extension and content (a PDF
// with a page, an xref table and %%EOF; a DOCX that is a real ZIP holding
// word/document.xml), sized like real CVs, and the multipart/form-data body of a job.

#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace cvgate::load {

struct CvFile {
    std::string filename;
    std::string bytes;
};

struct CorpusOptions {
    std::size_t files = 96;            // distinct files generated up front, picked at random
    double median_kib = 120;           // CV sizes: log-normal around this median...
    double sigma = 0.8;                // ...with this spread (p90 ≈ 2.8× the median)
    std::size_t min_bytes = 8 * 1024;  // clamped to [min, max]
    std::size_t max_bytes = 4 * 1024 * 1024;
    double docx_share = 0.3;  // the rest are PDFs
};

class Corpus {
public:
    Corpus(const CorpusOptions& options, std::mt19937_64& rng);

    const CvFile& pick(std::mt19937_64& rng) const;
    std::size_t size() const noexcept { return files_.size(); }
    std::size_t median_bytes() const;

private:
    std::vector<CvFile> files_;
};

std::string make_pdf(std::size_t size, std::mt19937_64& rng);
std::string make_docx(std::size_t size, std::mt19937_64& rng);

// A multipart/form-data body: the text fields, then each file as a `files` part.
class Form {
public:
    static constexpr const char* boundary = "----cvgateLoadBoundary0b7c1e5a9d2f4638";
    static std::string content_type();

    Form& field(const std::string& name, const std::string& value);
    Form& file(const CvFile& cv);
    std::string finish();  // the body, closing delimiter included

private:
    std::string body_;
};

// A job description like a recruiter's: a few paragraphs, some non-ASCII text.
const std::string& job_description();

}  // namespace cvgate::load
