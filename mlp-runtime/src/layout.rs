//! Where every tensor of a model lives in its flat buffers: the table is computed from the
//! IR by [`mlp_spec::layout`] (the code generator reads the same one), re-exported here.

pub use mlp_spec::layout::{ParamLayout, Role, TensorInfo};
