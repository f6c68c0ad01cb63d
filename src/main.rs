fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    match perch::config::load(std::path::Path::new(&path)) {
        Ok(l) => {
            println!("{}", perch::config::summary(&l.config));
            for w in l.warnings {
                println!("warn {}", perch::config::located(&l.path, &w));
            }
        }
        Err(e) => println!("{e}"),
    }
}
