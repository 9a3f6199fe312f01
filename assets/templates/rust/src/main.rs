// A tiny program: run `cargo run`.
fn main() {
    println!("Hello from your podbay workspace");
}
