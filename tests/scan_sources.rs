//! Frame sources on real files and a real channel, and the recorder of failed scans.

use std::path::PathBuf;

use image::{DynamicImage, GrayImage, ImageFormat, Luma};
use posd::scan::source::{FailedScanRecorder, ImageFiles, PushedFrame, PushedFrameError};
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
    let (sender, mut source) = posd::scan::source::PushedFrames::channel(4);
    let frame = small_frame();
    sender
        .send(PushedFrame::Png(encode(&frame, ImageFormat::Png)))
        .await
        .unwrap();
    sender
        .send(PushedFrame::Jpeg(encode(&frame, ImageFormat::Jpeg)))
        .await
        .unwrap();
    sender
        .send(PushedFrame::Grey {
            width: 8,
            height: 6,
            pixels: frame.as_raw().clone(),
        })
        .await
        .unwrap();
    drop(sender);

    let png = source.next_frame().await.unwrap().unwrap();
    assert_eq!(png.image.to_luma8(), frame);
    assert_eq!(png.origin, "pushed frame 1");
    let jpeg = source.next_frame().await.unwrap().unwrap();
    assert_eq!(jpeg.image.to_luma8().dimensions(), (8, 6));
    let grey = source.next_frame().await.unwrap().unwrap();
    assert_eq!(grey.image.to_luma8(), frame);
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
        PushedFrame::Grey {
            width: 640,
            height: 480,
            pixels: vec![0; 1000],
        },
        PushedFrame::Grey {
            width: 0,
            height: 480,
            pixels: Vec::new(),
        },
    ];
    for frame in frames {
        sender.send(frame).await.unwrap();
    }
    let mut messages = Vec::new();
    for index in 1..=5 {
        let error = source.next_frame().await.unwrap_err();
        assert!(error.is_frame_only());
        let SourceError::BadPushedFrame { index: got, reason } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(*got, index);
        match (index, reason) {
            (1, PushedFrameError::FormatMismatch { .. })
            | (2, PushedFrameError::UnknownFormat { .. })
            | (3, PushedFrameError::Damaged { .. })
            | (4, PushedFrameError::SizeMismatch { .. })
            | (5, PushedFrameError::Empty { .. }) => {}
            _ => panic!("frame {index}: {reason:?}"),
        }
        messages.push(error.to_string());
    }
    assert_eq!(
        messages[0],
        "pushed frame 1 rejected: declared JPEG but the bytes are Png"
    );
    assert_eq!(
        messages[3],
        "pushed frame 4 rejected: grey frame of 640x480 needs 307200 bytes, got 1000"
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
