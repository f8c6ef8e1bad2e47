mlp::mlp! {
    model Net {
        input [4]
        Dense(8, activation = relu)
        Dnese(2)
    }
}

fn main() {}
