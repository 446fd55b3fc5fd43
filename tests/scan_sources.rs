//! Frame sources on real files and a real channel, and the recorder of failed scans.

use std::path::PathBuf;

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use posd::scan::source::{
    FailedScanRecorder, ImageFiles, PushedFrame, PushedFrameError, RawFormat, RawFrame,
    RawFrameError, RawLayout,
};
use posd::scan::{FrameSource, SourceError};

fn encode(image: &GrayImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn small_frame() -> GrayImage {
    GrayImage::from_fn(8, 6, |x, y| Luma([(x * 30 + y) as u8]))
}

#[tokio::test]
async fn image_files_replay_in_order_then_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, format) in [("b.jpg", ImageFormat::Jpeg), ("a.png", ImageFormat::Png)] {
        let path = dir.path().join(name);
        std::fs::write(&path, encode(&small_frame(), format)).unwrap();
        paths.push(path);
    }
    std::fs::write(dir.path().join("notes.txt"), "not a frame").unwrap();

    let mut folder = ImageFiles::from_folder(dir.path()).unwrap();
    assert_eq!(folder.len(), 2, "the text file is not a frame");
    let first = folder.next_frame().await.unwrap().unwrap();
    assert!(first.origin.ends_with("a.png"), "{}", first.origin);
    assert_eq!(first.image.to_luma8(), small_frame());
    let second = folder.next_frame().await.unwrap().unwrap();
    assert!(second.origin.ends_with("b.jpg"));
    assert!(folder.next_frame().await.unwrap().is_none());
}

#[tokio::test]
async fn image_file_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let garbage = dir.path().join("garbage.png");
    std::fs::write(&garbage, b"this is not a PNG").unwrap();
    let mut files = ImageFiles::new([missing.clone(), garbage.clone()]);

    let error = files.next_frame().await.unwrap_err();
    assert!(matches!(error, SourceError::Read { .. }));
    assert!(!error.is_frame_only(), "a missing file ends the scan");
    assert!(error.to_string().contains(&missing.display().to_string()));

    let error = files.next_frame().await.unwrap_err();
    assert!(matches!(error, SourceError::NotAnImage { .. }));
    assert!(error.is_frame_only(), "a bad file is skipped");
    assert!(error.to_string().contains(&garbage.display().to_string()));

    let error = ImageFiles::from_folder(&dir.path().join("nowhere")).unwrap_err();
    assert!(error.to_string().contains("nowhere"), "{error}");
}

#[tokio::test]
async fn pushed_frames_of_every_format_arrive_decoded() {
    let (sender, mut source) = posd::scan::source::PushedFrames::channel(8);
    let frame = small_frame();
    sender
        .send(PushedFrame::Png(encode(&frame, ImageFormat::Png)))
        .await
        .unwrap();
    sender
        .send(PushedFrame::Jpeg(encode(&frame, ImageFormat::Jpeg)))
        .await
        .unwrap();
    let packed = RawLayout {
        format: RawFormat::Grey,
        width: 8,
        height: 6,
        stride: 8,
    };
    sender
        .send(PushedFrame::Raw(
            RawFrame::new(packed, frame.as_raw().clone()).unwrap(),
        ))
        .await
        .unwrap();
    // Camera2's Y plane: rows padded to 12 bytes with junk, the last row without its padding.
    let mut padded = Vec::new();
    for row in frame.rows() {
        padded.extend(row.map(|p| p.0[0]));
        padded.extend([0xEE; 4]);
    }
    padded.truncate(padded.len() - 4);
    let camera2 = RawLayout {
        stride: 12,
        ..packed
    };
    sender
        .send(PushedFrame::Raw(
            RawFrame::new(camera2, padded.clone()).unwrap(),
        ))
        .await
        .unwrap();
    // NV21: the same Y plane, full last row, then 3 rows of VU.
    padded.extend([0xEE; 4]);
    padded.extend([0x80; 12 * 3]);
    let nv21 = RawLayout {
        format: RawFormat::Nv21,
        ..camera2
    };
    sender
        .send(PushedFrame::Raw(RawFrame::new(nv21, padded).unwrap()))
        .await
        .unwrap();
    drop(sender);

    let png = source.next_frame().await.unwrap().unwrap();
    assert_eq!(png.image.to_luma8(), frame);
    assert_eq!(png.origin, "pushed frame 1");
    let jpeg = source.next_frame().await.unwrap().unwrap();
    assert_eq!(jpeg.image.to_luma8().dimensions(), (8, 6));
    for layout in ["packed grey", "padded grey", "nv21"] {
        let grey = source.next_frame().await.unwrap().unwrap();
        assert_eq!(grey.image.to_luma8(), frame, "{layout}");
    }
    assert!(
        source.next_frame().await.unwrap().is_none(),
        "ends when the sender is dropped"
    );
}

#[tokio::test]
async fn bad_pushed_frames_say_what_was_wrong() {
    let (sender, mut source) = posd::scan::source::PushedFrames::channel(8);
    let png = encode(&small_frame(), ImageFormat::Png);
    let mut truncated = png.clone();
    truncated.truncate(png.len() / 2);
    let frames = [
        PushedFrame::Jpeg(png),
        PushedFrame::Png(b"plain text".to_vec()),
        PushedFrame::Png(truncated),
    ];
    for frame in frames {
        sender.send(frame).await.unwrap();
    }
    let mut messages = Vec::new();
    for index in 1..=3 {
        let error = source.next_frame().await.unwrap_err();
        assert!(error.is_frame_only());
        let SourceError::BadPushedFrame { index: got, reason } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*got, index);
        match (index, reason) {
            (1, PushedFrameError::FormatMismatch { .. })
            | (2, PushedFrameError::UnknownFormat { .. })
            | (3, PushedFrameError::Damaged { .. }) => {}
            _ => panic!("frame {index}: {reason:?}"),
        }
        messages.push(error.to_string());
    }
    assert_eq!(
        messages[0],
        "pushed frame 1 rejected: declared JPEG but the bytes are Png"
    );
}

/// The layout a request's query asks for, e.g. `width=640&height=480`.
fn params(query: &str) -> Result<RawLayout, RawFrameError> {
    let get = |name| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    };
    RawLayout::from_params(get("format"), get("width"), get("height"), get("stride"))
}

#[test]
fn raw_layouts_default_to_packed_grey_and_name_each_bad_parameter() {
    assert_eq!(
        params("width=640&height=480").unwrap(),
        RawLayout {
            format: RawFormat::Grey,
            width: 640,
            height: 480,
            stride: 640
        }
    );
    assert_eq!(
        params("format=nv21&width=640&height=480&stride=704")
            .unwrap()
            .stride,
        704
    );
    for (query, field, problem) in [
        (
            "format=yuv&width=8&height=8",
            "format",
            "\"yuv\" is not grey or nv21",
        ),
        ("height=8", "width", "missing"),
        ("width=8", "height", "missing"),
        ("width=0&height=8", "width", "from 1 to 4096"),
        ("width=8&height=4097", "height", "from 1 to 4096"),
        ("width=-8&height=8", "width", "\"-8\""),
        ("width=8&height=8&stride=7", "stride", "from the width (8)"),
        ("width=8&height=8&stride=8193", "stride", "to 8192"),
        ("width=8&height=8&stride=x", "stride", "\"x\""),
        ("format=nv21&width=7&height=8", "width", "odd"),
        ("format=nv21&width=8&height=9", "height", "odd"),
    ] {
        let error = params(query).unwrap_err();
        assert_eq!(error.field(), Some(field), "{query}: {error}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains(problem),
            "{query}: {message}"
        );
    }
}

#[test]
fn a_raw_body_must_fit_its_layout() {
    let camera2 = RawLayout {
        format: RawFormat::Grey,
        width: 640,
        height: 480,
        stride: 704,
    };
    // 479 padded rows and the last without its padding, up to every row padded.
    for size in [704 * 479 + 640, 704 * 480] {
        RawFrame::new(camera2, vec![0; size]).unwrap();
    }
    let short = RawFrame::new(camera2, vec![0; 704 * 479 + 639]).unwrap_err();
    assert_eq!(short.field(), None);
    assert_eq!(
        short.to_string(),
        "the body is 337855 bytes; a grey frame of 640x480 with rows of 704 bytes needs 337856"
    );
    let long = RawFrame::new(camera2, vec![0; 704 * 480 + 1]).unwrap_err();
    assert_eq!(
        long.to_string(),
        "the body is 337921 bytes; a grey frame of 640x480 with rows of 704 bytes takes at most 337920"
    );
    let nv21 = RawLayout {
        format: RawFormat::Nv21,
        stride: 640,
        ..camera2
    };
    RawFrame::new(nv21, vec![0; 640 * 480 * 3 / 2]).unwrap();
    // Camera2's Y buffer and V buffer, one after the other: the V buffer ends on its last V
    // sample, one byte short of the interleaved plane.
    let camera2_nv21 = 640 * 480 + (640 * 239 + 640 - 1);
    RawFrame::new(nv21, vec![0; camera2_nv21]).unwrap();
    let y_only = RawFrame::new(nv21, vec![0; 640 * 480]).unwrap_err();
    assert!(
        y_only.to_string().ends_with("needs 460799"),
        "the VU plane is part of the body: {y_only}"
    );
}

#[tokio::test]
async fn failed_scan_frames_are_saved_bounded_and_replayable() {
    let dir = tempfile::tempdir().unwrap();
    let folder: PathBuf = dir.path().join("failed");
    let mut recorder = FailedScanRecorder::new(folder.clone(), 3, 5);
    let frames: Vec<GrayImage> = (0..4u32)
        .map(|n| GrayImage::from_fn(320, 240, |x, y| Luma([((x + y) * (n + 1) % 256) as u8])))
        .collect();
    for frame in &frames {
        recorder.observe(&DynamicImage::ImageLuma8(frame.clone()));
    }
    let saved = recorder.save().await.unwrap();
    assert_eq!(saved.len(), 3, "only the last frames_per_scan frames");

    let mut replay = ImageFiles::from_folder(&folder).unwrap();
    for expected in &frames[1..] {
        let frame = replay.next_frame().await.unwrap().unwrap();
        assert_eq!(&frame.image.to_luma8(), expected, "PNG keeps frames exact");
    }

    for frame in &frames {
        recorder.observe(&DynamicImage::ImageLuma8(frame.clone()));
    }
    assert_eq!(
        recorder.save().await.unwrap().len(),
        2,
        "folder holds at most 5"
    );
    recorder.observe(&DynamicImage::ImageLuma8(frames[0].clone()));
    assert!(recorder.save().await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 5);

    recorder.observe(&DynamicImage::ImageLuma8(frames[0].clone()));
    recorder.discard();
    assert!(
        recorder.save().await.unwrap().is_empty(),
        "a successful scan saves nothing"
    );
}
