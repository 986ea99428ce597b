//! `NodeMask`, `FAULT` and `node_remap`: conversions around numasim_core's nodemask_t.

use std::borrow::Cow;

use numasim_core::bitmap_text;
use numasim_core::usermask::{self, UserBuf, UserWords};
use numasim_core::{NodeMask, Semantics};
use numpy::{IntoPyArray, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyIterator, PyString, PyTuple};

use crate::arch::PyArchProfile;
use crate::errors::IntoPyResult;
use crate::errors::{i64_arg, type_error, u32_arg, u64_arg};

/// A fixed-capacity set of node ids: the kernel's nodemask_t. Immutable and hashable; behaves like a
/// frozenset of ints limited to ``0 <= node < nbits``.
///
/// ``nbits`` is the capacity (the kernel's MAX_NUMNODES) and must be given: masks of different
/// capacities never compare equal, and combining them raises ValueError.
///
/// >>> m = numasim.NodeMask([0, 1, 2, 5], nbits=64)
/// >>> 5 in m, len(m), m.format_list(), m.format_hex()
/// (True, 4, '0-2,5', '00000000,00000027')
/// >>> m & numasim.NodeMask.parse_list("2-7", nbits=64)
/// NodeMask([2, 5], nbits=64)
#[pyclass(name = "NodeMask", module = "numasim", frozen, from_py_object)]
#[derive(Clone, PartialEq)]
pub struct PyNodeMask {
    pub inner: NodeMask,
}

fn wrap(inner: NodeMask) -> PyNodeMask {
    PyNodeMask { inner }
}

impl From<NodeMask> for PyNodeMask {
    fn from(inner: NodeMask) -> Self {
        PyNodeMask { inner }
    }
}

/// Text to parse: str (as UTF-8) or bytes, handed to the core as bytes like a kernel buffer.
fn text_arg<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(s) = obj.cast::<PyString>() {
        Ok(Cow::Owned(s.to_str()?.as_bytes().to_vec()))
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        Ok(Cow::Borrowed(b.as_bytes()))
    } else {
        Err(type_error(format!("text must be str or bytes, got {}", obj.get_type().name()?)))
    }
}

/// Calls `f` with the core view of a `buf` argument: None, FAULT, or a 1-D uint32/uint64 array
/// (copied first if it is not contiguous).
fn with_user_buf<R>(buf: &Bound<'_, PyAny>, f: impl FnOnce(UserBuf<'_>) -> R) -> PyResult<R> {
    if buf.is_none() {
        return Ok(f(UserBuf::Null));
    }
    if buf.is_instance_of::<UserFault>() {
        return Ok(f(UserBuf::Fault));
    }
    if let Ok(a) = buf.extract::<PyReadonlyArray1<'_, u32>>() {
        return Ok(match a.as_slice() {
            Ok(s) => f(UserBuf::Words32(s)),
            Err(_) => f(UserBuf::Words32(&a.as_array().to_vec())),
        });
    }
    if let Ok(a) = buf.extract::<PyReadonlyArray1<'_, u64>>() {
        return Ok(match a.as_slice() {
            Ok(s) => f(UserBuf::Words64(s)),
            Err(_) => f(UserBuf::Words64(&a.as_array().to_vec())),
        });
    }
    let got = match buf.cast::<numpy::PyUntypedArray>() {
        Ok(a) => format!("a {}-D array of {}", a.ndim(), a.dtype().str()?),
        Err(_) => buf.get_type().name()?.to_string(),
    };
    Err(type_error(format!(
        "buf must be None (NULL), numasim.FAULT (unreadable) or a 1-D numpy array of the arch's \
         word_dtype (uint32 or uint64), got {got}"
    )))
}

#[pymethods]
impl PyNodeMask {
    /// NodeMask(nodes=(), *, nbits)
    ///
    /// A mask of capacity ``nbits`` holding ``nodes`` (an iterable of ints). A node < 0 or
    /// >= nbits raises ValueError; a non-int item raises TypeError.
    ///
    /// >>> numasim.NodeMask(range(4), nbits=16)
    /// NodeMask([0, 1, 2, 3], nbits=16)
    #[new]
    #[pyo3(signature = (nodes = None, *, nbits))]
    fn new(nodes: Option<&Bound<'_, PyAny>>, nbits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let nbits = NodeMask::nbits_from_i64(i64_arg(nbits, "nbits")?).py()?;
        let mut vals: Vec<i64> = Vec::new();
        if let Some(nodes) = nodes {
            for item in nodes.try_iter()? {
                let item = item?;
                match item.extract::<i64>() {
                    Ok(v) => vals.push(v),
                    Err(_) if item.is_instance_of::<PyInt>() => {
                        return Err(NodeMask::out_of_range(&item.repr()?.to_string(), nbits)).py();
                    }
                    Err(_) => {
                        return Err(type_error(format!(
                            "NodeMask nodes must be ints, got {}",
                            item.get_type().name()?
                        )));
                    }
                }
            }
        }
        Ok(wrap(NodeMask::from_nodes(vals, nbits).py()?))
    }

    /// The empty mask of capacity ``nbits`` (nodes_clear).
    #[staticmethod]
    fn empty(nbits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let nbits = NodeMask::nbits_from_i64(i64_arg(nbits, "nbits")?).py()?;
        Ok(wrap(NodeMask::empty(nbits).py()?))
    }

    /// Every node ``0 .. nbits-1`` (nodes_setall).
    ///
    /// >>> numasim.NodeMask.full(8).format_list()
    /// '0-7'
    #[staticmethod]
    fn full(nbits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let nbits = NodeMask::nbits_from_i64(i64_arg(nbits, "nbits")?).py()?;
        Ok(wrap(NodeMask::full(nbits).py()?))
    }

    /// The capacity in bits (the kernel's MAX_NUMNODES for this mask).
    #[getter]
    fn nbits(&self) -> u32 {
        self.inner.nbits()
    }

    /// ``node in mask`` (node_isset); False for a non-int or a node outside ``0 .. nbits-1``.
    fn __contains__(&self, item: &Bound<'_, PyAny>) -> bool {
        match item.extract::<i64>() {
            Ok(n) => u32::try_from(n).is_ok_and(|n| self.inner.test(n)),
            Err(_) => false,
        }
    }

    /// The number of nodes (nodes_weight).
    fn __len__(&self) -> usize {
        self.inner.weight() as usize
    }

    /// True unless the mask is empty (!nodes_empty).
    fn __bool__(&self) -> bool {
        !self.inner.is_empty()
    }

    /// The nodes in ascending order (for_each_node_mask).
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        PyTuple::new(py, self.inner.iter().collect::<Vec<_>>())?.try_iter()
    }

    fn __hash__(&self) -> u64 {
        self.inner.hash64()
    }

    /// ``==`` compares capacity and nodes; ``<=`` / ``<`` / ``>=`` / ``>`` are subset and superset
    /// tests (capacities must match). Anything but a NodeMask gives NotImplemented.
    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let Ok(other) = other.cast::<PyNodeMask>() else {
            return Ok(py.NotImplemented());
        };
        let (a, b) = (&self.inner, &other.get().inner);
        let r = match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            CompareOp::Le => a.is_subset(b).py()?,
            CompareOp::Lt => a.is_subset(b).py()? && a != b,
            CompareOp::Ge => b.is_subset(a).py()?,
            CompareOp::Gt => b.is_subset(a).py()? && a != b,
        };
        Ok(PyBool::new(py, r).to_owned().into_any().unbind())
    }

    /// Intersection (nodes_and).
    fn __and__(&self, other: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.and(&other.get().inner).py()?))
    }
    /// Union (nodes_or).
    fn __or__(&self, other: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.or(&other.get().inner).py()?))
    }
    /// Symmetric difference (nodes_xor).
    fn __xor__(&self, other: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.xor(&other.get().inner).py()?))
    }
    /// Difference (nodes_andnot).
    fn __sub__(&self, other: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.andnot(&other.get().inner).py()?))
    }
    /// Complement within ``0 .. nbits-1`` (nodes_complement).
    fn __invert__(&self) -> Self {
        wrap(self.inner.complement())
    }

    /// True if the masks share no node (!nodes_intersects). Capacities must match.
    fn isdisjoint(&self, other: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(!self.inner.intersects(&other.get().inner).py()?)
    }
    /// ``self <= other`` (nodes_subset).
    fn issubset(&self, other: &Bound<'_, Self>) -> PyResult<bool> {
        self.inner.is_subset(&other.get().inner).py()
    }
    /// ``self >= other``.
    fn issuperset(&self, other: &Bound<'_, Self>) -> PyResult<bool> {
        other.get().inner.is_subset(&self.inner).py()
    }

    /// The lowest node, or None if empty (first_node).
    fn first(&self) -> Option<u32> {
        self.inner.first()
    }
    /// The lowest node strictly above ``n``, or None (next_node; ``next(-1)`` is ``first()``).
    fn next(&self, n: &Bound<'_, PyAny>) -> PyResult<Option<u32>> {
        Ok(self.inner.next_above(i64_arg(n, "n")?))
    }
    /// The highest node, or None if empty (last_node / find_last_bit).
    fn last(&self) -> Option<u32> {
        self.inner.last()
    }

    /// nodes_remap() (bitmap_remap): the n-th node of ``old`` goes to the (n mod w)-th node of
    /// ``new`` (w = len(new)); nodes not in ``old`` stay, and an empty ``old`` or ``new`` is the
    /// identity. All three capacities must match.
    ///
    /// >>> M = lambda s: numasim.NodeMask.parse_list(s, nbits=64)
    /// >>> M("1,5,7").remap(M("4-7"), M("12-15"))
    /// NodeMask([1, 13, 15], nbits=64)
    fn remap(&self, old: &Bound<'_, Self>, new: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.remap(&old.get().inner, &new.get().inner).py()?))
    }

    /// nodes_onto() (bitmap_onto): sets the m-th node of ``relmap`` for every bit m of ``self``;
    /// bits at or above len(relmap) map nowhere. Capacities must match.
    ///
    /// >>> M = lambda s: numasim.NodeMask.parse_list(s, nbits=64)
    /// >>> M("1,3,5,7,9,11").onto(M("30-39")).format_list()
    /// '31,33,35,37,39'
    fn onto(&self, relmap: &Bound<'_, Self>) -> PyResult<Self> {
        Ok(wrap(self.inner.onto(&relmap.get().inner).py()?))
    }

    /// nodes_fold() (bitmap_fold): sets bit (m mod sz) for every bit m. The result keeps this
    /// mask's nbits, like the kernel's destination bitmap; ``sz`` must be >= 1.
    ///
    /// >>> numasim.NodeMask([0, 9, 18, 27], nbits=64).fold(10)
    /// NodeMask([0, 7, 8, 9], nbits=64)
    fn fold(&self, sz: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(wrap(self.inner.fold(u32_arg(sz, "sz")?).py()?))
    }

    /// The kernel's list format (``%*pbl``, Mems_allowed_list): ``'0-3,5'``; empty gives ``''``.
    fn format_list(&self) -> String {
        bitmap_text::format_list(&self.inner)
    }

    /// The kernel's mask format (``%*pb``, Mems_allowed): 32-bit hex chunks, most significant
    /// first, zero padded to nbits.
    ///
    /// >>> numasim.NodeMask(range(4), nbits=64).format_hex()
    /// '00000000,0000000f'
    fn format_hex(&self) -> String {
        bitmap_text::format_hex(&self.inner)
    }

    /// Parses the kernel's list format exactly as bitmap_parselist() (6.x) does: ranges ``a-b``,
    /// single nodes, ``all``, ``N`` for the last bit, and groups ``range:used/group``
    /// (``'0-1023:2/256'``). ``text`` is str or bytes; it ends at NUL or at a newline that follows
    /// a region. Errors are OSError with errno EINVAL, ERANGE (node >= nbits) or EOVERFLOW
    /// (a number beyond an unsigned int).
    ///
    /// >>> numasim.NodeMask.parse_list("0-6:2/3,N", nbits=16)
    /// NodeMask([0, 1, 3, 4, 6, 15], nbits=16)
    #[staticmethod]
    fn parse_list(text: &Bound<'_, PyAny>, nbits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let nbits = NodeMask::nbits_from_i64(i64_arg(nbits, "nbits")?).py()?;
        Ok(wrap(bitmap_text::parse_list(&text_arg(text)?, nbits).py()?))
    }

    /// Parses the kernel's mask format exactly as bitmap_parse() (6.x) does: 32-bit hex chunks
    /// read from the end, separated by commas or whitespace. Errors are OSError with errno EINVAL
    /// (a non-hex character) or EOVERFLOW (a chunk over 8 digits, too many chunks, or a bit
    /// >= nbits).
    ///
    /// >>> numasim.NodeMask.parse_hex("00000000,0000000f", nbits=64).format_list()
    /// '0-3'
    #[staticmethod]
    fn parse_hex(text: &Bound<'_, PyAny>, nbits: &Bound<'_, PyAny>) -> PyResult<Self> {
        let nbits = NodeMask::nbits_from_i64(i64_arg(nbits, "nbits")?).py()?;
        Ok(wrap(bitmap_text::parse_hex(&text_arg(text)?, nbits).py()?))
    }

    /// get_nodes(): the nodemask the kernel reads from a user ``(nmask, maxnode)`` pair.
    ///
    /// ``buf`` is None (a NULL pointer), ``numasim.FAULT`` (an unreadable pointer) or a 1-D
    /// numpy array of ``arch.word_dtype`` (readable memory of exactly that many words; reading
    /// past its end faults). Only bits ``0 .. maxnode-2`` are read (the kernel's off-by-one).
    /// ``semantics`` is ``"2.6.16"`` (also ``"v5"``) or ``"modern"``. The result has
    /// ``nbits = arch.max_numnodes``. ``maxnode`` is an unsigned long: on 32-bit arches it is
    /// taken modulo 2**32. Kernel errors are OSError: EINVAL (maxnode 0 with a pointer,
    /// maxnode-1 > PAGE_SIZE*8, set bits the kernel rejects), EFAULT (unreadable words).
    /// ``abi="i386"``: the caller is a 32-bit program on an x86_64 kernel: ``buf`` holds uint32
    /// words and maxnode is 32 bits; 2.6.16 (and V5) read them as 64-bit words, two at a time,
    /// 6.x with compat_get_bitmap() (32-bit words).
    ///
    /// >>> x = numasim.arch("x86_64")
    /// >>> numasim.NodeMask.from_user(np.array([0b1011], np.uint64), 3, x)
    /// NodeMask([0, 1], nbits=64)
    #[staticmethod]
    #[pyo3(signature = (buf, maxnode, arch, semantics = "2.6.16", abi = "native"))]
    fn from_user(
        buf: &Bound<'_, PyAny>,
        maxnode: &Bound<'_, PyAny>,
        arch: &Bound<'_, PyArchProfile>,
        semantics: &str,
        abi: &str,
    ) -> PyResult<Self> {
        let maxnode = u64_arg(maxnode, "maxnode")?;
        let semantics = Semantics::parse(semantics).py()?;
        let abi = numasim_core::machine::info::abi_from_name(abi).py()?;
        let arch = &arch.get().inner;
        let mask =
            with_user_buf(buf, |b| usermask::get_nodes_for(&b, maxnode, arch, semantics, abi))?;
        Ok(wrap(mask.py()?))
    }

    /// The numpy array of words (``arch.word_dtype``) a C program passes as ``nmask`` with this
    /// ``maxnode`` so that the kernel reads exactly this mask: ``ceil((maxnode-1) / bits_per_long)``
    /// words (none when maxnode <= 1). ValueError if a node is not read with that maxnode
    /// (pass maxnode >= node+2), is >= arch.max_numnodes, or if maxnode > PAGE_SIZE*8 + 1.
    ///
    /// >>> numasim.NodeMask([5], nbits=64).to_user(7, numasim.arch("x86_64"))
    /// array([32], dtype=uint64)
    fn to_user<'py>(
        &self,
        py: Python<'py>,
        maxnode: &Bound<'py, PyAny>,
        arch: &Bound<'py, PyArchProfile>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let words =
            usermask::to_user(&self.inner, u64_arg(maxnode, "maxnode")?, &arch.get().inner).py()?;
        Ok(match words {
            UserWords::Words32(v) => v.into_pyarray(py).into_any(),
            UserWords::Words64(v) => v.into_pyarray(py).into_any(),
        })
    }

    fn __repr__(&self) -> String {
        let m = &self.inner;
        if m.weight() <= 16 {
            format!("NodeMask({:?}, nbits={})", m.iter().collect::<Vec<_>>(), m.nbits())
        } else {
            format!("NodeMask.parse_list('{}', nbits={})", bitmap_text::format_list(m), m.nbits())
        }
    }

    /// Pickles as ``NodeMask.parse_list(text, nbits)``.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (String, u32))> {
        let ctor = py.get_type::<Self>().getattr("parse_list")?;
        Ok((ctor, (bitmap_text::format_list(&self.inner), self.inner.nbits())))
    }
}

/// The type of ``numasim.FAULT``: a user pointer whose memory cannot be read. Every read through
/// it fails with EFAULT, like an unmapped address passed to a system call.
#[pyclass(name = "UserFault", module = "numasim", frozen)]
pub struct UserFault;

#[pymethods]
impl UserFault {
    fn __repr__(&self) -> &'static str {
        "numasim.FAULT"
    }
    /// Pickles as the module-level singleton ``numasim.FAULT``.
    fn __reduce__(&self) -> &'static str {
        "FAULT"
    }
}

/// node_remap() (bitmap_bitremap): where the map defined by ``old`` and ``new`` sends node ``n``:
/// the k-th node of ``old`` goes to the (k mod len(new))-th node of ``new``; a node not in ``old``
/// (or any node when ``new`` is empty) maps to itself. ``old`` and ``new`` must have equal nbits.
///
/// >>> M = lambda s: numasim.NodeMask.parse_list(s, nbits=64)
/// >>> numasim.node_remap(5, M("4-7"), M("12-15"))
/// 13
#[pyfunction]
fn node_remap(
    n: &Bound<'_, PyAny>,
    old: &Bound<'_, PyNodeMask>,
    new: &Bound<'_, PyNodeMask>,
) -> PyResult<u32> {
    NodeMask::bitremap(u32_arg(n, "n")?, &old.get().inner, &new.get().inner).py()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNodeMask>()?;
    m.add_class::<UserFault>()?;
    m.add("FAULT", Py::new(m.py(), UserFault)?)?;
    m.add_function(wrap_pyfunction!(node_remap, m)?)?;
    Ok(())
}
