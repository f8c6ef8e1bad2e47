// Every mistake is reported at once, and the stub type keeps the code that uses the
// model from adding unrelated errors.
use mlp::prelude::*;

mlp::mlp! {
    model Net {
        input [4]
        Dense(8, init = glorot_unifrom)
        Dropout(1.5)
        Dense(2, activation = softmax)
    }
}

fn main() {
    let net = Net::new(0);
    println!("{}", net.summary());
}
