mlp::include_mlp!("specs/no_such_model.mlp");

fn main() {}
