mlp::mlp! {
    model Net {
        input [4]
        Dense(relu)
        Dense(2, activation = softmax)
    }
}

fn main() {}
