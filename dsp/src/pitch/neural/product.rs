//! The network's matrix products, as a candle custom op.
//!
//! candle 0.11's CPU matmul asks for the machine's thread count on every call, and on Linux,
//! unless `RAYON_NUM_THREADS` is set, that means opening and parsing `/proc/cpuinfo`
//! (`num_cpus::get_physical`, not cached). This network makes six small products per batch, and
//! those reads were most of the worker's time (perf: the kernel formatting `/proc/cpuinfo` on the
//! worker thread). A plugin must not set environment variables in its host's process, so the
//! products go through this op instead, which calls `gemm` (the crate candle's matmul uses)
//! single-threaded, as the worker's one-thread pool would anyway. Inference only: training runs
//! candle's own layers (`PitchNet::forward`).

use candle_core::{CpuStorage, CustomOp2, Error, Layout, Result, Shape, Tensor};

/// `kernel · columns[b]` for every `b`: a `(rows, depth)` kernel times `(batch, depth, len)`
/// columns gives `(batch, rows, len)`.
pub fn kernel_product(kernel: &Tensor, columns: &Tensor) -> Result<Tensor> {
    kernel
        .contiguous()?
        .apply_op2_no_bwd(&columns.contiguous()?, &KernelProduct)
}

struct KernelProduct;

impl CustomOp2 for KernelProduct {
    fn name(&self) -> &'static str {
        "affetto-kernel-product"
    }

    fn cpu_fwd(
        &self,
        kernel: &CpuStorage,
        kernel_layout: &Layout,
        columns: &CpuStorage,
        columns_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(kernel), CpuStorage::F32(columns)) = (kernel, columns) else {
            return Err(Error::Msg("kernel_product takes f32 tensors".into()));
        };
        let &[rows, depth] = kernel_layout.dims() else {
            return Err(Error::Msg("kernel_product: the kernel must be 2-D".into()));
        };
        let &[batch, columns_depth, len] = columns_layout.dims() else {
            return Err(Error::Msg("kernel_product: the columns must be 3-D".into()));
        };
        let (Some((kernel_start, kernel_end)), Some((columns_start, columns_end))) = (
            kernel_layout.contiguous_offsets(),
            columns_layout.contiguous_offsets(),
        ) else {
            return Err(Error::Msg("kernel_product takes contiguous tensors".into()));
        };
        if columns_depth != depth {
            return Err(Error::Msg(format!(
                "kernel_product: kernel depth {depth}, columns depth {columns_depth}"
            )));
        }
        let kernel = &kernel[kernel_start..kernel_end];
        let columns = &columns[columns_start..columns_end];
        let mut out = vec![0.0f32; batch * rows * len];
        for (out, columns) in out
            .chunks_exact_mut(rows * len)
            .zip(columns.chunks_exact(depth * len))
        {
            // SAFETY: row-major matrices with the strides given: `out` is rows × len, `kernel`
            // rows × depth and `columns` depth × len, exactly the lengths of these slices, so
            // every element gemm reads or writes is inside them; `out` is written only
            // (`read_dst` false) and does not overlap the inputs.
            unsafe {
                gemm::gemm(
                    rows,
                    len,
                    depth,
                    out.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    kernel.as_ptr(),
                    1,
                    depth as isize,
                    columns.as_ptr(),
                    1,
                    len as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((batch, rows, len))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn equals_candles_product() {
        let device = Device::Cpu;
        let kernel = Tensor::rand(-1.0f32, 1.0, (16, 35), &device).unwrap();
        let columns = Tensor::rand(-1.0f32, 1.0, (3, 35, 100), &device).unwrap();
        let ours = kernel_product(&kernel, &columns).unwrap();
        let candles = kernel.broadcast_matmul(&columns).unwrap();
        let largest = (ours - candles).unwrap().abs().unwrap().max_all().unwrap();
        assert!(largest.to_scalar::<f32>().unwrap() < 1e-5);
    }
}
