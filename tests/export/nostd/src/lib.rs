//! The exported model, in a crate without `std` and without `alloc`: if the export needed
//! either, this would not build.
#![no_std]

pub mod model;
