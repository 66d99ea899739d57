//! Pictures of the window or of a part of it, saved as PNG (atomically: a temporary file, then a
//! rename, so an interrupted save never leaves a half image under the name).

use std::path::Path;

/// Saves `image` as PNG.
pub fn save_png(path: &Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, bytes).ok_or("bad image size")?;
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let tmp = path.with_extension("png.partial");
    buffer.save_with_format(&tmp, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Saves the part of a window picture under `rect` (in points, `ppp` pixels each).
pub fn save_png_region(path: &Path, image: &egui::ColorImage, rect: egui::Rect, ppp: f32) -> Result<(), String> {
    let [w, h] = image.size;
    let px = |v: f32, max: usize| ((v * ppp).round().max(0.0) as usize).min(max);
    let (x0, y0, x1, y1) = (px(rect.min.x, w), px(rect.min.y, h), px(rect.max.x, w), px(rect.max.y, h));
    if x1 <= x0 || y1 <= y0 {
        return Err("the chart is not on screen".into());
    }
    let mut pixels = Vec::with_capacity((x1 - x0) * (y1 - y0));
    for y in y0..y1 {
        pixels.extend_from_slice(&image.pixels[y * w + x0..y * w + x1]);
    }
    save_png(
        path,
        &egui::ColorImage {
            size: [x1 - x0, y1 - y0],
            pixels,
            source_size: egui::Vec2::new((x1 - x0) as f32, (y1 - y0) as f32),
        },
    )
}
