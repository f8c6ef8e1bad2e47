mlp::mlp! {
    model Net {
        input [4]
        Dense(8,, activation = relu)
    }
}

fn main() {}
