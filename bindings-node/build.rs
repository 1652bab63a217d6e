fn main() {
    // Adds the link flags each platform needs for an N-API module.
    napi_build::setup();
}
