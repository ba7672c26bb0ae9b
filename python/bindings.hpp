// rewire._core — one registration function per area; each lives in its own bind_*.cpp. The helpers
// below bind the C++ options structs once, so that their defaults reach Python and the command line
// from the declaration alone.
#pragma once

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rewire/core/error.hpp"
#include "rewire/io/image3d.hpp"
#include "rewire/io/transform.hpp"

namespace rewire::python {

void bind_signal(pybind11::module_& m);      // bind_signal.cpp: detrend, filters, clean()
void bind_confounds(pybind11::module_& m);   // bind_confounds.cpp: fMRIPrep confounds, strategies
void bind_estimators(pybind11::module_& m);  // bind_estimators.cpp: covariance estimators, tangent
void bind_cohort(pybind11::module_& m);      // bind_cohort.cpp: the HDF5 cohort store
void bind_stats(pybind11::module_& m);  // bind_stats.cpp: GLM, FDR, permutation tests (max-T, NBS, TFNBS)
void bind_transforms(pybind11::module_& m);  // bind_transforms.cpp: transform files, warping atlases

/// A 3D image (or stack) as {data: (X, Y, Z[, V]) float64 in Fortran order, affine, format, path}.
pybind11::dict image3d_dict(rewire::Image3D image);

/// A transform chain as Python passes it, a list of (path, invert), as TransformFiles.
std::vector<TransformFile> chain_of(const std::vector<std::pair<std::string, bool>>& chain);

/// One value of a bound enum: its C++ name (the Python attribute) and the string the Python API and
/// the command line spell it with (nilearn's where nilearn has the name).
template <typename E>
struct EnumValue {
    const char* name;
    E value;
    const char* label;
};

/// Binds an enum whose values are also written as strings: `str(value)` is the label, and a string
/// (label or name) converts to the enum wherever one is expected, so `options.field = "label"` works.
/// An unknown string raises ValueError: `parse`'s (the C++ parser, when the enum has one) or one listing
/// the labels.
template <typename E>
pybind11::enum_<E> bind_enum(pybind11::module_& m, const char* name, const char* doc,
                             std::initializer_list<EnumValue<E>> values,
                             E (*parse)(const std::string&) = nullptr) {
    namespace py = pybind11;
    auto table = std::make_shared<std::vector<EnumValue<E>>>(values);
    py::enum_<E> cls(m, name, doc);
    for (const auto& v : *table)
        cls.value(v.name, v.value);
    const std::string what = name;
    cls.def(py::init([table, what, parse](const std::string& text) {
                for (const auto& v : *table) {
                    if (text == v.label || text == v.name)
                        return v.value;
                }
                if (parse)
                    return parse(text);
                std::string labels;
                for (const auto& v : *table)
                    labels += (labels.empty() ? "'" : ", '") + std::string(v.label) + "'";
                throw InvalidInput(what + ": unknown value '" + text + "', expected one of " + labels);
            }),
            py::arg("label"));
    cls.def("__str__", [table](E value) {
        for (const auto& v : *table) {
            if (v.value == value)
                return std::string(v.label);
        }
        return std::string();
    });
    cls.def_property_readonly(
        "label", [](py::object self) { return py::str(self); }, "The value as the Python API spells it.");
    py::implicitly_convertible<py::str, E>();
    return cls;
}

/// Binds an options struct as a Python class whose defaults are the C++ ones: a keyword constructor
/// (`CleanOptions(detrend=False)`), a read-write attribute per field, `validate()` when the struct has
/// one, a repr naming every field, `==` and pickling by field values, and `fields()` listing the
/// field names in declaration order.
template <typename T>
class OptionsClass {
public:
    OptionsClass(pybind11::module_& m, const char* name, const char* doc)
        : cls_(m, name, doc), name_(name), fields_(std::make_shared<std::vector<std::string>>()) {}

    /// A field: `member` read and written as attribute `name`. Reading gives a copy, except for a nested
    /// options struct, which is shared (`tangent.mean.max_iter = 5` changes `tangent`). Writing converts
    /// strings to enums (ValueError naming the field and the accepted labels on an unknown one) and
    /// raises TypeError naming the field on a value of the wrong type.
    template <typename D>
    OptionsClass& field(const char* name, D T::*member, const char* doc) {
        namespace py = pybind11;
        const std::string where = name_ + "." + name;
        if constexpr (has_validate<D>::value) {
            cls_.def_property(
                name, [member](T& self) -> D& { return self.*member; },
                [member, where](T& self, const py::object& value) {
                    self.*member = convert<D>(value, where);
                },
                py::return_value_policy::reference_internal, doc);
        } else {
            cls_.def_property(
                name, [member](const T& self) { return self.*member; },
                [member, where](T& self, const py::object& value) {
                    self.*member = convert<D>(value, where);
                },
                doc);
        }
        fields_->emplace_back(name);
        return *this;
    }

    /// Binds `T::validate()` (throws ValueError naming the first bad field).
    OptionsClass& validate() {
        cls_.def(
            "validate", [](const T& options) { options.validate(); },
            "Raises ValueError naming the first option that can never work.");
        return *this;
    }

    /// Adds the constructor, repr, equality and pickling; returns the class for extra definitions.
    pybind11::class_<T>& finish() {
        namespace py = pybind11;
        auto fields = fields_;
        const std::string name = name_;
        cls_.def(py::init([fields, name](const py::kwargs& kwargs) {
                     T value;
                     assign(value, kwargs, *fields, name);
                     return value;
                 }),
                 "Options with the C++ defaults, the fields given as keywords replaced.");
        cls_.def_static(
            "fields", [fields]() { return *fields; }, "Field names, in declaration order.");
        cls_.def("__repr__", [fields, name](py::object self) {
            std::string text = name + "(";
            for (std::size_t k = 0; k < fields->size(); ++k) {
                const py::object value = shown(self.attr((*fields)[k].c_str()));
                text += (k ? ", " : "") + (*fields)[k] + "=" + py::repr(value).template cast<std::string>();
            }
            return text + ")";
        });
        cls_.def("__eq__", [fields](py::object self, py::object other) -> py::object {
            if (!py::isinstance(other, py::type::of(self)))
                return py::reinterpret_borrow<py::object>(Py_NotImplemented);
            for (const auto& f : *fields) {
                const py::object a = self.attr(f.c_str()), b = other.attr(f.c_str());
                const bool both_nan = py::isinstance<py::float_>(a) && py::isinstance<py::float_>(b) &&
                                      std::isnan(a.cast<double>()) && std::isnan(b.cast<double>());
                if (!both_nan && !a.equal(b))
                    return py::bool_(false);  // an unset NaN option equals itself
            }
            return py::bool_(true);
        });
        cls_.attr("__hash__") = py::none();  // mutable: not hashable
        cls_.def(py::pickle(
            [fields](py::object self) {
                py::dict state;
                for (const auto& f : *fields)
                    state[f.c_str()] = self.attr(f.c_str());
                return state;
            },
            [fields, name](const py::dict& state) {
                T value;
                assign(value, state, *fields, name);
                return value;
            }));
        cls_.def(
            "copy", [](const T& options) { return T(options); }, "An independent copy.");
        return cls_;
    }

private:
    template <typename D, typename = void>
    struct has_validate : std::false_type {};
    template <typename D>
    struct has_validate<D, std::void_t<decltype(&D::validate)>> : std::true_type {};
    template <typename D>
    struct is_enum_vector : std::false_type {};
    template <typename E, typename A>
    struct is_enum_vector<std::vector<E, A>> : std::is_enum<E> {};

    /// `value` as a field of type D: strings name enums, anything else is cast.
    template <typename D>
    static D convert(const pybind11::handle& value, const std::string& where) {
        namespace py = pybind11;
        try {
            if constexpr (std::is_enum_v<D>) {
                if (py::isinstance<py::str>(value)) {
                    const py::object cls =
                        py::type::of(py::cast(D{}));  // the bound enum (string constructor)
                    return cls(value).template cast<D>();
                }
            } else if constexpr (is_enum_vector<D>::value) {
                if (py::isinstance<py::sequence>(value) && !py::isinstance<py::str>(value)) {
                    D out;
                    for (const auto& item : value)
                        out.push_back(convert<typename D::value_type>(item, where));
                    return out;
                }
            }
            return value.template cast<D>();
        } catch (const py::error_already_set& error) {
            // The enum's own message names the enum; this one names the field too.
            if (error.matches(PyExc_ValueError)) {
                throw InvalidInput(where + ": " + py::str(error.value()).template cast<std::string>());
            }
            throw;
        } catch (const py::cast_error&) {
            throw py::type_error(where + ": cannot be set to " +
                                 py::repr(value).template cast<std::string>() + " (a " +
                                 py::type::of(value).attr("__name__").template cast<std::string>() + ")");
        }
    }

    /// A field's value as the repr shows it: enums (also inside lists) by their labels.
    static pybind11::object shown(const pybind11::object& value) {
        namespace py = pybind11;
        if (py::isinstance<py::list>(value)) {
            py::list out;
            for (const auto& item : value)
                out.append(shown(py::reinterpret_borrow<py::object>(item)));
            return std::move(out);
        }
        if (py::hasattr(py::type::of(value), "__members__"))
            return py::str(value);
        return value;
    }

    static void assign(T& value, const pybind11::dict& given, const std::vector<std::string>& fields,
                       const std::string& name) {
        namespace py = pybind11;
        py::object self = py::cast(&value, py::return_value_policy::reference);
        for (const auto& item : given) {
            const auto key = py::str(item.first).template cast<std::string>();
            if (std::find(fields.begin(), fields.end(), key) == fields.end()) {
                throw py::type_error(name + "() got an unexpected keyword argument '" + key + "'");
            }
            py::setattr(self, key.c_str(), item.second);
        }
    }

    pybind11::class_<T> cls_;
    std::string name_;
    std::shared_ptr<std::vector<std::string>> fields_;
};

/// A read-only attribute holding an array member of a bound result, shared with the result (no copy;
/// the result stays alive as long as the array does) and writable like any array a function returns.
template <typename T, typename D>
void array_field(pybind11::class_<T>& cls, const char* name, D T::*member, const char* doc) {
    cls.def_property_readonly(
        name, [member](T& self) -> D& { return self.*member; },
        pybind11::return_value_policy::reference_internal, doc);
}

}  // namespace rewire::python
