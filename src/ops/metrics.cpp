// The Prometheus text exposition format, version 0.0.4.
#include "voxfork/metrics.hpp"

namespace voxfork::ops {
namespace {

// HELP text escapes `\` and line feeds; label values also `"`.
void append_escaped(std::string& out, std::string_view text, bool quotes) {
    for (const char ch : text) {
        if (ch == '\\')
            out += "\\\\";
        else if (ch == '\n')
            out += "\\n";
        else if (ch == '"' && quotes)
            out += "\\\"";
        else
            out += ch;
    }
}

}  // namespace

void MetricsWriter::family(std::string_view name, Type type, std::string_view help) {
    name_ = "voxfork_" + std::string(name);
    out_ += "# HELP " + name_ + " ";
    append_escaped(out_, help, false);
    out_ += "\n# TYPE " + name_ + (type == Type::counter ? " counter\n" : " gauge\n");
}

void MetricsWriter::sample(std::uint64_t value, Labels labels) {
    sample_text(std::to_string(value), labels);
}

void MetricsWriter::sample_milliseconds_as_seconds(std::uint64_t milliseconds, Labels labels) {
    const std::string fraction = std::to_string(1000 + milliseconds % 1000).substr(1);  // three digits
    sample_text(std::to_string(milliseconds / 1000) + "." + fraction, labels);
}

void MetricsWriter::sample_text(const std::string& value, Labels labels) {
    out_ += name_;
    if (labels.size() != 0) {
        out_ += '{';
        bool first = true;
        for (const auto& [label, label_value] : labels) {
            if (!first) out_ += ',';
            first = false;
            out_ += label;
            out_ += "=\"";
            append_escaped(out_, label_value, true);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ' + value + '\n';
}

std::string Metrics::render() const {
    MetricsWriter writer;
    for (const auto& collect : collectors_) collect(writer);
    return writer.text();
}

}  // namespace voxfork::ops
