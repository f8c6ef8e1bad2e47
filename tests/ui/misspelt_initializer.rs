mlp::mlp! {
    model Net {
        input [4]
        Dense(8, init = he_norml, activation = relu)
        Dense(2, activation = softmax)
    }
}

fn main() {}
