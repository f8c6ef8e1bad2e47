//! Keras 3 `model.summary()` tables rendered from the IR.
