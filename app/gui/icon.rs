//! The window icon: the Remote4D icon (`app/icon_pixels.rs`) at 64×64.

/// Side of the icon, in pixels.
const SIZE: u32 = 64;

/// The icon's pixels, RGBA, row by row.
pub fn rgba() -> Vec<u8> {
    crate::icon_pixels::rgba(SIZE)
}

/// The window icon.
pub fn window_icon() -> Option<iced::window::Icon> {
    iced::window::icon::from_rgba(rgba(), SIZE, SIZE).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_the_svgs_design() {
        let px = rgba();
        assert_eq!(px.len(), (SIZE * SIZE * 4) as usize);
        let at = |x: u32, y: u32| {
            let i = ((y * SIZE + x) * 4) as usize;
            [px[i], px[i + 1], px[i + 2], px[i + 3]]
        };
        // Outside the rounded square: transparent; the corner is rounded.
        assert_eq!(at(0, 0)[3], 0);
        assert_eq!(at(5, 5)[3], 0);
        // The blue square, the white and the light-blue panels, fully opaque.
        assert_eq!(at(8, 40), [0x1f, 0x4e, 0x8c, 255]);
        assert_eq!(at(20, 24), [0xff, 0xff, 0xff, 255]);
        assert_eq!(at(40, 40), [0x8f, 0xc1, 0xff, 255]);
        // Anti-aliased edges: partly covered pixels exist.
        assert!(px.chunks(4).any(|p| p[3] > 0 && p[3] < 255));
        assert!(window_icon().is_some());
    }
}
