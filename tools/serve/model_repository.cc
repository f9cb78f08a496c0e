#include "tools/serve/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <map>

namespace bnfold::serve {

namespace fs = std::filesystem;

namespace {

bool IsVersion(const std::string& s) {
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), ::isdigit);
}

// Numeric order for versions ("9" before "10").
bool VersionLess(const std::string& a, const std::string& b) {
  return std::stoll(a) < std::stoll(b);
}

bool IsModelFile(const fs::path& p) {
  std::error_code ec;
  return p.extension() == ".onnx" && fs::is_regular_file(p, ec);
}

Status AddModel(const std::string& name, const std::string& version, const fs::path& path,
                std::map<std::pair<std::string, std::string>, std::string>* found) {
  auto [it, added] = found->emplace(std::make_pair(name, version), path.string());
  if (!added) {
    return InvalidArgument("model '" + name + "' version " + version + " is given twice: " +
                           it->second + " and " + path.string());
  }
  return Status::Ok();
}

Status ScanFolder(const fs::path& dir,
                  std::map<std::pair<std::string, std::string>, std::string>* found) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) entries.push_back(e.path());
  if (ec) return IoError(dir.string() + ": cannot list: " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    if (IsModelFile(p)) {
      if (Status s = AddModel(p.stem().string(), "1", p, found); !s.ok()) return s;
      continue;
    }
    if (!fs::is_directory(p, ec)) continue;
    // NAME/VERSION/model.onnx
    for (const fs::directory_entry& v : fs::directory_iterator(p, ec)) {
      const fs::path model = v.path() / "model.onnx";
      if (IsVersion(v.path().filename().string()) && IsModelFile(model)) {
        Status s = AddModel(p.filename().string(), v.path().filename().string(), model, found);
        if (!s.ok()) return s;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Discover(
    const std::vector<std::string>& paths, const std::string& rename) {
  std::map<std::pair<std::string, std::string>, std::string> found;
  for (const std::string& arg : paths) {
    std::error_code ec;
    const fs::path p(arg);
    if (fs::is_directory(p, ec)) {
      const size_t before = found.size();
      if (Status s = ScanFolder(p, &found); !s.ok()) return s;
      if (found.size() == before) {
        return NotFound(arg + ": no models found (expected *.onnx files or NAME/VERSION/model.onnx)");
      }
    } else if (fs::is_regular_file(p, ec)) {
      if (Status s = AddModel(p.stem().string(), "1", p, &found); !s.ok()) return s;
    } else {
      return NotFound(arg + ": no such file or folder");
    }
  }
  if (found.empty()) return InvalidArgument("no models given");
  auto repo = std::make_unique<ModelRepository>();
  for (const auto& [key, path] : found) {
    auto m = std::make_unique<ServedModel>();
    m->name = key.first;
    m->version = key.second;
    m->path = path;
    repo->models_.push_back(std::move(m));
  }
  if (!rename.empty()) {
    for (const auto& m : repo->models_) {
      if (m->name != repo->models_[0]->name) {
        return InvalidArgument("--model-name names one model, but " + std::to_string(found.size()) +
                               " models were found ('" + repo->models_[0]->name + "', '" +
                               m->name + "', ...)");
      }
    }
    for (const auto& m : repo->models_) m->name = rename;
  }
  std::sort(repo->models_.begin(), repo->models_.end(), [](const auto& a, const auto& b) {
    return a->name != b->name ? a->name < b->name : VersionLess(a->version, b->version);
  });
  return repo;
}

Status ModelRepository::LoadAll(const SessionOptions& options) {
  for (const auto& m : models_) {
    StatusOr<std::unique_ptr<Session>> session = Session::Open(m->path, options);
    if (!session.ok()) return session.status();
    m->session = std::move(*session);
    m->ready.store(true, std::memory_order_release);
  }
  return Status::Ok();
}

StatusOr<ServedModel*> ModelRepository::Find(const std::string& name,
                                             const std::string& version) const {
  ServedModel* latest = nullptr;
  for (const auto& m : models_) {
    if (m->name != name) continue;
    if (version.empty()) {
      latest = m.get();  // sorted: the last is the highest
    } else if (m->version == version) {
      return m.get();
    }
  }
  if (latest != nullptr) return latest;
  bool known = false;
  for (const auto& m : models_) known = known || m->name == name;
  if (known) return NotFound("model '" + name + "' has no version '" + version + "'");
  return NotFound("no model named '" + name + "'");
}

std::vector<std::string> ModelRepository::Versions(const std::string& name) const {
  std::vector<std::string> versions;
  for (const auto& m : models_) {
    if (m->name == name) versions.push_back(m->version);
  }
  return versions;
}

bool ModelRepository::AllReady() const {
  for (const auto& m : models_) {
    if (!m->ready.load(std::memory_order_acquire)) return false;
  }
  return true;
}

}  // namespace bnfold::serve
